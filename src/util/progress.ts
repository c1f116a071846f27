/**
 * Progress bars for long CLI work (imports, re-embedding), drawn on stderr only when it is a terminal: piped stderr
 * stays clean for logs, and tests see no escape codes.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/** `threshold`: below this many units the work is quick and no bar is drawn. */
export function createProgress(label: string, unit: string, threshold = 20): Progress {
  let bar: cliProgress.SingleBar | null = null;
  return {
    update(done, total) {
      if (!process.stderr.isTTY || total < threshold) return;
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: `${label} [{bar}] {value}/{total} ${unit}`, clearOnComplete: true, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
      }
      bar.setTotal(total);
      bar.update(done);
      if (done >= total) {
        bar.stop();
        bar = null;
      }
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

/** For createApp's onReembedProgress: a changed embedder re-embeds every memory before serving. */
export function reembedProgressBar(): (progress: { readonly done: number; readonly total: number }) => void {
  const progress = createProgress('re-embedding memories', 'memories');
  return ({ done, total }) => progress.update(done, total);
}
