/** Failure types that cross from activities to workflows: spelled here once, read by both (workflow-safe, no I/O). */

/** An execution attempt whose Docker engine stopped answering; RunWorkflow waits it out for `dockerEngineWaitMs`. */
export const DOCKER_ENGINE_UNAVAILABLE = 'DockerEngineUnavailable';
