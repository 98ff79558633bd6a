import Logging
import SpaceportCore
import SpaceportKube

extension EmbeddedProxy {
    /// Tells the feed (an `error` event each), the log and, when one is shown, the dashboard's
    /// status bar what the cluster's spaces report: what they leave out, and the watch's state.
    public func report(_ spaces: ClusterSpaces, logger: Logger, session: DashboardSession? = nil) {
        let access = spaces.source.client.access
        session?.setStatus("cluster", access.shortSummary)
        session?.setStatus("watch", spaces.connection.description)
        let hub = hub
        let tell = { @Sendable (problems: [ClusterProblem]) in
            for problem in problems {
                logger.error("\(problem)")
                hub.publish(.error(message: problem.description, id: nil))
            }
        }
        tell(spaces.problems)
        spaces.listen { report in
            switch report {
            case .problems(let problems): tell(problems)
            case .connection(let connection):
                session?.setStatus("watch", connection.description)
                if case .reconnecting = connection {
                    logger.warning("cluster \(access.summary): \(connection)")
                } else {
                    logger.notice("cluster \(access.summary): watch \(connection)")
                }
            }
        }
    }
}
