import type { WatcherEvent } from '@cove/sdk/runtime';
import { useEffect, useState } from 'preact/hooks';
import { messageOf } from './hooks.js';
import type { WorkspaceRuntime } from './runtime.js';
import type { FileEntry } from './types.js';

const MAX_EVENTS = 200;

interface Shown {
  event: WatcherEvent;
  at: string;
  key: number;
}

/**
 * The workspace's files from its working directory down: a tree (directories load when opened), a viewer and
 * editor for one file, a form for new files, and the live events of a watcher on the root, which also refresh
 * the directories they touch.
 */
export function FilesPanel({ runtime }: { runtime: WorkspaceRuntime }) {
  const [root, setRoot] = useState<string | undefined>(undefined);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [versions, setVersions] = useState<Record<string, number>>({});
  const [events, setEvents] = useState<Shown[]>([]);
  const [watching, setWatching] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  const touch = (dir: string) => setVersions((v) => ({ ...v, [dir]: (v[dir] ?? 0) + 1 }));

  useEffect(() => {
    runtime.rt
      .info()
      .then((info) => setRoot(String(info.workdir ?? info.home ?? '/')))
      .catch((err) => setError(messageOf(err)));
  }, [runtime]);

  useEffect(() => {
    if (!root) return;
    let watcherId: string | undefined;
    let disposed = false;
    let counter = 0;
    const off = runtime.onWatcher((event) => {
      if (watcherId === undefined || event.watcher_id !== watcherId) return;
      const shown = { event, at: new Date().toLocaleTimeString(), key: counter++ };
      setEvents((list) => [shown, ...list].slice(0, MAX_EVENTS));
      if (event.type === 'change' && event.path) touch(parentOf(event.path));
    });
    (async () => {
      try {
        await runtime.socket();
        const watcher = await runtime.rt.watcher.create({ path: root });
        if (disposed) {
          await runtime.rt.watcher.delete(watcher.id).catch(() => {});
          return;
        }
        watcherId = watcher.id;
        setWatching(watcher.root ?? root);
      } catch (err) {
        if (!disposed) setError(`watcher: ${messageOf(err)}`);
      }
    })();
    return () => {
      disposed = true;
      off();
      if (watcherId) runtime.rt.watcher.delete(watcherId).catch(() => {});
    };
  }, [runtime, root]);

  if (!root) return error ? <p role="alert">{error}</p> : <p aria-busy="true">Loading…</p>;

  return (
    <div class="files">
      <div class="tree-column">
        <h2>
          Files <span class="muted">{root}</span>
        </h2>
        <NewFile
          root={root}
          runtime={runtime}
          onCreated={(path) => {
            touch(parentOf(path));
            setSelected(path);
          }}
        />
        <nav aria-label="File tree" class="tree">
          <Directory runtime={runtime} path={root} versions={versions} selected={selected} onOpen={setSelected} />
        </nav>
      </div>
      <div class="editor-column">
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        {selected ? <Editor key={selected} runtime={runtime} path={selected} /> : <p>Choose a file to view or edit it.</p>}
        <section aria-labelledby="events-heading">
          <h2 id="events-heading">Watcher events</h2>
          <p class="muted">{watching ? `Watching ${watching}` : 'Starting the watcher…'}</p>
          <ol class="events" aria-live="polite" aria-relevant="additions">
            {events.map(({ event, at, key }) => (
              <li key={key} data-event-type={event.type}>
                <time>{at}</time> <strong>{event.type === 'change' ? event.op : event.type}</strong>{' '}
                {event.path ?? event.root ?? event.message ?? ''}
              </li>
            ))}
          </ol>
        </section>
      </div>
    </div>
  );
}

function Directory({
  runtime,
  path,
  versions,
  selected,
  onOpen,
}: {
  runtime: WorkspaceRuntime;
  path: string;
  versions: Record<string, number>;
  selected: string | undefined;
  onOpen: (path: string) => void;
}) {
  const [entries, setEntries] = useState<FileEntry[] | undefined>(undefined);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string | undefined>(undefined);
  const version = versions[path] ?? 0;

  useEffect(() => {
    runtime.rt.files
      .list({ dirPath: path, useGitignore: false })
      .then((res) => {
        const list = [...((res as { entries?: FileEntry[] }).entries ?? [])];
        list.sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type === 'directory' ? -1 : 1));
        setEntries(list);
        setError(undefined);
      })
      .catch((err) => setError(messageOf(err)));
  }, [runtime, path, version]);

  if (error) return <p class="error">{error}</p>;
  if (!entries) return <p aria-busy="true">…</p>;
  if (entries.length === 0) return <p class="muted">(empty)</p>;
  return (
    <ul>
      {entries.map((entry) =>
        entry.type === 'directory' ? (
          <li key={entry.path}>
            <button
              type="button"
              class="dir"
              aria-expanded={open.has(entry.path)}
              onClick={() =>
                setOpen((s) => {
                  const next = new Set(s);
                  if (!next.delete(entry.path)) next.add(entry.path);
                  return next;
                })
              }
            >
              {entry.name}/
            </button>
            {open.has(entry.path) && (
              <Directory runtime={runtime} path={entry.path} versions={versions} selected={selected} onOpen={onOpen} />
            )}
          </li>
        ) : (
          <li key={entry.path}>
            <button
              type="button"
              class="file"
              aria-current={entry.path === selected ? 'true' : undefined}
              onClick={() => onOpen(entry.path)}
            >
              {entry.name}
            </button>
          </li>
        ),
      )}
    </ul>
  );
}

function Editor({ runtime, path }: { runtime: WorkspaceRuntime; path: string }) {
  const [content, setContent] = useState<string | undefined>(undefined);
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => {
    runtime.rt.files
      .read({ filePath: path })
      .then((file) => {
        setContent(file.content);
        setSaved(file.content);
      })
      .catch((err) => setError(messageOf(err)));
  }, [runtime, path]);

  const save = async (event: Event) => {
    event.preventDefault();
    if (content === undefined) return;
    try {
      const res = await runtime.rt.files.write({ fullPath: path, content });
      setSaved(content);
      setStatus(`Saved (${res.size} bytes).`);
    } catch (err) {
      setError(messageOf(err));
    }
  };

  if (error)
    return (
      <p role="alert" class="error">
        {error}
      </p>
    );
  if (content === undefined) return <p aria-busy="true">Loading {path}…</p>;
  return (
    <form onSubmit={save} class="editor">
      <label for="editor-text">
        <strong>{path}</strong>
        {content !== saved ? ' (changed)' : ''}
      </label>
      <textarea id="editor-text" spellcheck={false} value={content} onInput={(e) => setContent(e.currentTarget.value)} rows={20} />
      <div class="toolbar">
        <button type="submit" disabled={content === saved}>
          Save
        </button>
        <span role="status">{status}</span>
      </div>
    </form>
  );
}

function NewFile({ root, runtime, onCreated }: { root: string; runtime: WorkspaceRuntime; onCreated: (path: string) => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  return (
    <form
      class="inline-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const path = name.startsWith('/') ? name : `${root.replace(/\/$/, '')}/${name}`;
        try {
          await runtime.rt.files.write({ fullPath: path, content: '', createDirs: true });
          setName('');
          setError(undefined);
          onCreated(path);
        } catch (err) {
          setError(messageOf(err));
        }
      }}
    >
      <label>
        New file
        <input name="new_file" required placeholder="notes.txt" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <button type="submit">Create file</button>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </form>
  );
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
