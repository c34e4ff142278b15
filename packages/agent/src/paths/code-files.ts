import path from 'node:path';

/**
 * What counts as a code or configuration file, for `code_files_only` on
 * listings and `is_code` on stat: source files by extension, plus build and
 * configuration files known by name.
 */
const CODE_EXTENSIONS = new Set(
  (
    'js jsx mjs cjs ts tsx mts cts vue svelte astro html htm css scss sass less styl ' +
    'py pyi pyx rb php pl pm lua r jl go rs c h cc cpp cxx hpp hh hxx m mm swift kt kts java scala sc groovy gradle ' +
    'clj cljs cljc edn ex exs erl hrl hs lhs ml mli fs fsi fsx cs vb dart zig nim cr v sol elm purs ' +
    'sh bash zsh fish ps1 psm1 bat cmd awk sed sql graphql gql proto thrift ' +
    'json jsonc json5 yaml yml toml ini cfg conf env properties xml xsd xsl plist ' +
    'md mdx rst tex txt csv tsv ' +
    'dockerfile containerfile makefile mk cmake bazel bzl nix tf tfvars hcl lock'
  ).split(' '),
);

const CODE_FILENAMES = new Set(
  (
    'Dockerfile Containerfile Makefile GNUmakefile makefile Rakefile Gemfile Procfile Vagrantfile Jenkinsfile ' +
    'CMakeLists.txt BUILD WORKSPACE Justfile justfile Taskfile .gitignore .gitattributes .dockerignore .editorconfig ' +
    '.npmrc .nvmrc .env .babelrc .eslintrc .prettierrc .bashrc .zshrc .profile'
  ).split(' '),
);

/** The extension as the API reports it: with its dot, lower-case (`.go`), or `''`. */
export function extensionOf(name: string): string {
  return path.extname(name).toLowerCase();
}

/** Whether a file name is a code or configuration file. */
export function isCodeFile(name: string): boolean {
  if (CODE_FILENAMES.has(name)) return true;
  const ext = extensionOf(name);
  if (ext === '') return false;
  return CODE_EXTENSIONS.has(ext.slice(1));
}
