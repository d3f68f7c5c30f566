/**
 * Fleet-sized reads inside one activity: items are read in batches of 100, and after each batch a heartbeat carries
 * how far the read got and what it found, so a retried attempt (a worker lost, a rate limit, a forge outage) resumes
 * from the last heartbeat instead of reading the fleet again. While a batch is slow (a forge waiting out its rate
 * limit), the last progress is re-sent so the activity stays visibly alive and still hears a cancellation.
 */
import { Context } from '@temporalio/activity';

export const BATCH_SIZE = 100;

const KEEPALIVE_MS = 10_000;

/** Heartbeat details: visible in the Web UI as the pending activity's progress, and read back by the next attempt. */
export interface BatchProgress<V> {
  /** Items read so far, from the start of the list. */
  done: number;
  total: number;
  /** One value per item read, in the list's order. */
  values: V[];
}

/** `readOne` over every item, in order, resuming from the previous attempt's last heartbeat where there is one. */
export async function mapInResumableBatches<T, V>(items: readonly T[], readOne: (item: T) => Promise<V>): Promise<V[]> {
  const context = activityContext();
  let progress: BatchProgress<V> = resumedProgress<V>(context, items.length) ?? {
    done: 0,
    total: items.length,
    values: [],
  };
  const keepalive = context && setInterval(() => context.heartbeat(progress), KEEPALIVE_MS);
  try {
    while (progress.done < items.length) {
      const batch = items.slice(progress.done, progress.done + BATCH_SIZE);
      const values = [...progress.values];
      for (const item of batch) values.push(await readOne(item));
      progress = { done: progress.done + batch.length, total: items.length, values };
      context?.heartbeat(progress);
      if (context?.cancellationSignal.aborted) await context.cancelled;
    }
    return progress.values;
  } finally {
    clearInterval(keepalive);
  }
}

/** The previous attempt's progress, when it is progress over a list of this length; anything else starts afresh. */
function resumedProgress<V>(context: Context | undefined, total: number): BatchProgress<V> | undefined {
  const details = context?.info.heartbeatDetails as Partial<BatchProgress<V>> | undefined;
  if (!details || details.total !== total || !Array.isArray(details.values)) return undefined;
  if (details.done !== details.values.length || details.done > total) return undefined;
  return { done: details.done, total, values: details.values };
}

/** Called outside an activity (a script, a unit test), there is nothing to heartbeat to and nothing to resume. */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
