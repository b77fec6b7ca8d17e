// The package's classes (hand-written: its API is the JavaScript driver's). package.sh adds
// the shared types (sdk/js/types.d.ts) and the wasm core's init() declarations.

/**
 * One submitted job. `JSON.stringify(job)` is its resume token.
 */
export class Job {
    private constructor();
    /**
     * Asks once for the job's status.
     */
    poll(): Promise<JobStatus>;
    /**
     * `JSON.stringify(job)` gives a resume token: `{ command, jobId, resourceId, submittedAt }`
     * (`submittedAt` when known).
     */
    toJSON(): ResumeToken;
    /**
     * Waits until the job finishes: resolves with its result on success (CloudStack's
     * `jobresult`, e.g. `{ virtualmachine: {...} }`; CLM's task results; `onProgress` saw the
     * final status); rejects with `JobFailedError` when the job failed, `AbortError` (or the
     * signal's reason) / `TimeoutError` when the caller stopped waiting — the job may still
     * run and this handle stays usable.
     */
    wait(options?: WaitOptions | ((status: JobStatus) => void)): Promise<JsonValue>;
    /**
     * The command that started the job (empty when unknown).
     */
    readonly command: string;
    /**
     * The job id.
     */
    readonly id: string;
    /**
     * The id of the resource the command creates, if any.
     */
    readonly resourceId: string | undefined;
    /**
     * When the server accepted the job's submit, in Unix milliseconds (`Date.now()`'s clock);
     * `undefined` when unknown (a job known by its id only).
     */
    readonly submittedAt: number | undefined;
}

/**
 * A client of one endpoint.
 */
export class JobClient {
    /**
     * Runs a synchronous command (e.g. `listZones`); resolves with the response object.
     */
    call(command: string, params?: CommandParams): Promise<JsonValue>;
    /**
     * A `Job` handle for a job id obtained elsewhere; throws `TypeError` unless it is a
     * non-empty string.
     */
    job(jobId: string): Job;
    /**
     * `new JobClient(options)` (see `JobClientOptions`); throws `TypeError` on bad options.
     */
    constructor(options: JobClientOptions);
    /**
     * A `Job` handle from a resume token (`JSON.parse(JSON.stringify(job))`); throws
     * `TypeError` for anything else.
     */
    resume(token: ResumeToken): Job;
    /**
     * Submits an async command and waits for it: `submit` then `job.wait(options)`; resolves
     * with the job's result (CLM: the operation's result objects).
     */
    run(command: string, params?: CommandParams, options?: WaitOptions): Promise<JsonValue>;
    /**
     * Submits an async command; resolves with a `Job` as soon as the server accepts it.
     */
    submit(command: string, params?: CommandParams): Promise<Job>;
    /**
     * Follows `jobs` until all have finished: `for await (const update of client.watch(jobs))`
     * yields every change (each finish exactly once). CloudStack jobs share one
     * `listAsyncJobs` listing per tick; CLM tasks are waited for a few at a time.
     * Takes `Job`s or resume tokens; the jobs stay usable. `{ onDelay }` reports every delay
     * the watch chooses, and why.
     */
    watch(jobs: Array<Job | ResumeToken>, options?: WatchOptions): AsyncIterableIterator<JobStatus>;
}

