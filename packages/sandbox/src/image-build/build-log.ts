// buildah's output, read as it comes: each Dockerfile step becomes a progress event, cache hits are counted,
// and the output of the step being run is kept (its tail) for the error a failing step gives.
import { AppError, type ImageProgress } from '@cove/protocol';

/** Lines of a failing step's output the error carries, and the length each is cut to. */
const TAIL_LINES = 20;
const LINE_MAX = 400;

// `STEP 3/8: COPY a /b`, and in a multi-stage build `[1/2] STEP 3/8: COPY a /b`.
const STEP = /^(?:\[(\d+)\/(\d+)\] )?STEP (\d+)\/(\d+): (.*)$/;
// buildah's own lines, not the step's output.
const OWN = [/^--> /, /^COMMIT\b/, /^Successfully tagged /, /^[0-9a-f]{64}$/, /^subprocess exited with status \d+$/, /^time="/];

export interface BuildStep {
  /** `3/8`, or `[1/2] 3/8` in a multi-stage build. */
  position: string;
  instruction: string;
}

export class BuildLog {
  readonly #onProgress: ((p: ImageProgress) => void) | undefined;
  #step: BuildStep | undefined;
  #tail: string[] = [];
  #error: string | undefined;
  steps = 0;
  cached = 0;

  constructor(onProgress?: (p: ImageProgress) => void) {
    this.#onProgress = onProgress;
  }

  line(raw: string): void {
    const text = raw.replace(/\r$/, '');
    const step = STEP.exec(text);
    if (step) {
      const [, stage, stages, index, total, instruction] = step;
      this.#step = { position: `${stage ? `[${stage}/${stages}] ` : ''}${index}/${total}`, instruction: instruction ?? '' };
      this.#tail = [];
      this.steps++;
      this.#onProgress?.({
        phase: 'building',
        message: `step ${this.#step.position}: ${this.#step.instruction}`,
        current: Number(index),
        total: Number(total),
      });
      return;
    }
    if (text.startsWith('--> Using cache ')) {
      this.cached++;
      return;
    }
    if (text.startsWith('Error: ')) {
      this.#error = text.slice('Error: '.length);
      return;
    }
    if (OWN.some((re) => re.test(text))) return;
    this.#tail.push(text.length > LINE_MAX ? `${text.slice(0, LINE_MAX)}…` : text);
    if (this.#tail.length > TAIL_LINES) this.#tail.shift();
  }

  /** The error a failed build gives: the step that failed, buildah's reason, and the step's last output lines. */
  failure(): AppError {
    const reason = shortReason(this.#error ?? 'buildah failed without saying why');
    const tail = this.#tail.filter((l) => l.trim() !== '');
    const output = tail.length > 0 ? `; its output ended with:\n${tail.join('\n')}` : '';
    if (!this.#step) return new AppError('bad_request', `the build failed before its first step: ${reason}${output}`);
    return new AppError('bad_request', `the build failed at step ${this.#step.position} (${this.#step.instruction}): ${reason}${output}`);
  }
}

/** buildah says `building at STEP "RUN …": exit status 1`: the step is named already, the reason is the end. */
function shortReason(error: string): string {
  // The step's text is quoted unescaped (it may hold quotes itself): the reason follows the last `": `.
  const at = error.startsWith('building at STEP "') ? error.lastIndexOf('": ') : -1;
  return (at >= 0 ? error.slice(at + 3) : error).slice(0, 1000);
}
