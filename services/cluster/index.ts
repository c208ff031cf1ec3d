/**
 * The runner side of a cluster: a process that hosts the `AgentTask` entity for the agents it registers by name
 * and runs each task it receives with the local engine, at most `concurrency` at once. `launch` is a whole runner
 * process (the `parallel-agents runner` command): it joins the cluster at `DATABASE_URL`, listens at
 * `RUNNER_HOST:RUNNER_PORT`, and runs until it is stopped.
 *
 * @since 0.1.0
 */
export * as AgentRunner from "./AgentRunner.js"

/**
 * The cluster entity that runs agent tasks: `AgentTask`, whose one message, `Run`, carries a task, the name of the
 * agent to run it with and the run's options, and whose reply is the task's result. `Run` is persisted with the
 * primary key `runId/taskId`: a runner that dies loses nothing (its unanswered tasks move to another runner), and a
 * task sent again for the same run gets the stored result back instead of a second call of its agent.
 *
 * @since 0.1.0
 */
export * as AgentTask from "./AgentTask.js"

/**
 * Settings of a cluster of runners: the sharding settings every process reads from one shared configuration (and
 * checks against the other processes' through the database), a runner's own address and how many tasks it runs at
 * once, and the PostgreSQL database they all share (`DATABASE_URL`). The defaults move a dead runner's tasks to
 * the others within about ten seconds instead of @effect/cluster's 35 seconds of lock expiry.
 *
 * @since 0.1.0
 */
export * as ClusterConfig from "./ClusterConfig.js"

/**
 * An `Executor` whose tasks run on the cluster: a program written against `Executor.run` / `Executor.stream`
 * changes only in the layer it provides. Each task goes to the `AgentTask` entity under the registered name of the
 * run's agent and comes back as the `TaskResult` its runner's engine produced; the run itself (its concurrency,
 * now the cluster-wide limit, deadline, failure policy, budget, rate limit, events, stream, aggregate and report)
 * is kept here, exactly as in a local run.
 *
 * @since 0.1.0
 */
export * as ClusterExecutor from "./ClusterExecutor.js"

/**
 * A limit on how many tasks run at once across a whole cluster (a provider's quota), whatever the runs and
 * coordinators that send them: a runner takes a lease from a table of `limit` slots in the cluster's PostgreSQL
 * before it calls an agent, and gives it back when the task ends. A lease names the runner that holds it, whose
 * database session holds an advisory lock for as long as it runs, so the leases of a runner that dies come back as
 * soon as PostgreSQL sees its session end.
 *
 * @since 0.1.0
 */
export * as ClusterLimit from "./ClusterLimit.js"

/**
 * The coordinator side of a cluster: sends a run's tasks to the `AgentTask` entity, at most `concurrency` at once
 * across the whole cluster, and collects every task's result, in input order (`run`) or as they end (`stream`).
 * Tasks go to the runner that holds their shard; a runner that dies has its tasks taken over by the others, and a
 * coordinator restarted with the same run id gets the stored results back without calling any agent again.
 *
 * @since 0.1.0
 */
export * as Coordinator from "./Coordinator.js"
