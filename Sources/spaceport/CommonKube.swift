import ArgumentParser
import Logging
import SpaceportApp
import SpaceportCore
import SpaceportKube

/// `--kube` and its companions: take the spaces from a Kubernetes cluster instead of the file.
struct KubeOptions: ParsableArguments {
    @Flag(
        help:
            "Take the spaces from the Kubernetes cluster kubectl would use instead of the spaces file: namespaces labelled azds.io/space=true are spaces, their Services instances (see docs/kubernetes.md)."
    )
    var kube = false

    @Option(
        help: ArgumentHelp("The kubeconfig context to use (default: its current-context).", valueName: "name")
    )
    var context: String?

    @Option(
        help: ArgumentHelp(
            "The kubeconfig to read (default: $KUBECONFIG, else ~/.kube/config; inside a pod, its service account).",
            valueName: "file"))
    var kubeconfig: String?

    @Option(
        help: ArgumentHelp(
            "The ConfigMap whose settings.yaml holds the spaces file's settings (default: spaceport-settings in the proxy's namespace).",
            valueName: "namespace/name"))
    var settingsConfigMap: String?

    @Option(
        help: ArgumentHelp(
            "How an instance's upstream is named: dns (<service>.<namespace>.svc.cluster.local) or cluster-ip (the Service's cluster IP, no lookup).",
            valueName: "dns|cluster-ip"))
    var upstreamHost = "dns"

    func validate() throws {
        if !kube, context != nil || kubeconfig != nil || settingsConfigMap != nil || upstreamHost != "dns" {
            throw CommandFailure.usage(
                "--context, --kubeconfig, --settings-configmap and --upstream-host go with --kube; add --kube"
            )
        }
        guard ["dns", "cluster-ip"].contains(upstreamHost) else {
            throw CommandFailure.usage("--upstream-host is '\(upstreamHost)'; write dns or cluster-ip")
        }
    }

    var target: ClusterTarget {
        var target = ClusterTarget(
            kubeconfig: kubeconfig, context: context, settingsConfigMap: settingsConfigMap)
        if upstreamHost == "cluster-ip" { target.options.naming = .clusterIP }
        return target
    }

    /// The cluster's tree as it is now, its problems said on stderr; a cluster that cannot be read ends the command.
    func tree() async throws -> SpaceTree {
        // Only warnings and errors: the answer on stdout is the tree.
        CommandLogHandler.bootstrap(
            (try? LogSettings.resolve(format: nil, level: nil)) ?? LogSettings(), level: .warning)
        let logger = Logger(label: SpaceportLog.label)
        let source: ClusterSource
        do {
            source = try await ClusterSource.open(target, logger: logger)
        } catch {
            throw CommandFailure.report(error.description)
        }
        let tree: SpaceTree?
        let problems: [ClusterProblem]
        do {
            (tree, problems) = try await source.once()
        } catch {
            await source.client.shutdown()
            throw CommandFailure.report(error.description)
        }
        await source.client.shutdown()
        for problem in problems { CommandFailure.note(problem.description) }
        guard let tree else { throw CommandFailure.report("the cluster's spaces are not a valid tree") }
        return tree
    }

    /// Makes `edit` on the cluster (an override annotates the Service), checked against its tree first.
    func apply(_ edit: SpaceEdit) async throws {
        CommandLogHandler.bootstrap(
            (try? LogSettings.resolve(format: nil, level: nil)) ?? LogSettings(), level: .warning)
        let source: ClusterSource
        do {
            source = try await ClusterSource.open(target, logger: Logger(label: SpaceportLog.label))
        } catch {
            throw CommandFailure.report(error.description)
        }
        do {
            let (tree, _) = try await source.once()
            guard let tree else {
                throw SpacesError.refusedBySource("the cluster's spaces are not a valid tree")
            }
            _ = try tree.applying(edit)
            try await source.apply(edit, to: tree)
        } catch let error as KubeError {
            await source.client.shutdown()
            throw CommandFailure.report(error.description)
        } catch let error as SpacesError {
            await source.client.shutdown()
            throw CommandFailure.report(error.description)
        }
        await source.client.shutdown()
    }

    /// The store a proxy routes from: the cluster's spaces, listed, watched and kept, with --kube;
    /// else the spaces file's.
    func store(or file: SpacesFileOptions, logger: Logger) async throws -> (SpacesStore, ClusterSpaces?) {
        guard kube else {
            do {
                return (try SpacesStore(path: file.path), nil)
            } catch {
                throw CommandFailure.report(file.describe(error))
            }
        }
        do {
            let spaces = try await ClusterSpaces.start(
                source: try await ClusterSource.open(target, logger: logger))
            return (spaces.store, spaces)
        } catch {
            throw CommandFailure.report(error.description)
        }
    }
}
