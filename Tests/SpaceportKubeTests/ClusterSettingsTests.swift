import Foundation
import Logging
import SpaceportCore
import SpaceportKube
import SpaceportKubeTestSupport
import SpaceportTestSupport
import Testing

@Suite("Settings from the cluster's ConfigMap", .serialized)
struct ClusterSettingsTests {
    @Test("settings.yaml in the ConfigMap holds a spaces file's settings, read by the same parser")
    func fromConfigMap() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        fixture.api.putConfigMap(
            "spaceport-settings", namespace: "spaceport",
            settings: """
                route_header: x-route-as
                domain: dev.example.com
                default_space: team
                limits:
                  upstream_timeout_ms: 1234

                """)
        let source = try await ClusterSource.open(
            ClusterTarget(kubeconfig: fixture.kubeconfig), environment: ["HOME": fixture.folder],
            logger: Logger(label: "test.kube"))
        #expect(source.settings.routeHeader == "x-route-as")
        #expect(source.settings.domain == "dev.example.com")
        #expect(source.settings.limits.upstreamTimeoutMs == 1234)
        let (tree, problems) = try await source.once()
        #expect(problems.isEmpty)
        #expect(tree?.settings.defaultSpace == "team")
        #expect(
            fixture.api.requests.contains {
                $0.path == "/api/v1/namespaces/spaceport/configmaps/spaceport-settings"
            })
        await source.client.shutdown()
    }

    @Test("--settings-configmap names another; a missing one leaves the defaults")
    func namedOrMissing() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.api.putConfigMap("mine", namespace: "tools", settings: "domain: tools.example.com\n")
        let named = try await ClusterSource.open(
            ClusterTarget(kubeconfig: fixture.kubeconfig, settingsConfigMap: "tools/mine"),
            environment: ["HOME": fixture.folder], logger: Logger(label: "test.kube"))
        #expect(named.settings.domain == "tools.example.com")
        await named.client.shutdown()
        let missing = try await ClusterSource.open(
            ClusterTarget(kubeconfig: fixture.kubeconfig), environment: ["HOME": fixture.folder],
            logger: Logger(label: "test.kube"))
        #expect(missing.settings == Settings())
        await missing.client.shutdown()
        do {
            _ = try await ClusterSource.open(
                ClusterTarget(kubeconfig: fixture.kubeconfig, settingsConfigMap: "just-a-name"),
                environment: ["HOME": fixture.folder], logger: Logger(label: "test.kube"))
            Issue.record("a ConfigMap without a namespace was taken")
        } catch {
            #expect(error.description.contains("write NAMESPACE/NAME"))
        }
    }

    @Test("a mistake in settings.yaml names the ConfigMap, the line and the column; spaces: is not a setting")
    func badSettings() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.api.putConfigMap(
            "spaceport-settings", namespace: "spaceport",
            settings: "domain: ok.example\nroute_header: 'not a header'\n")
        do {
            _ = try await ClusterSource.open(
                ClusterTarget(kubeconfig: fixture.kubeconfig), environment: ["HOME": fixture.folder],
                logger: Logger(label: "test.kube"))
            Issue.record("a bad route header was taken")
        } catch {
            #expect(
                error.description.hasPrefix(
                    "ConfigMap spaceport/spaceport-settings, key settings.yaml: configmap/spaceport/spaceport-settings/settings.yaml:2:15: "
                ), "\(error)")
        }
        fixture.api.putConfigMap("spaceport-settings", namespace: "spaceport", settings: "spaces: {}\n")
        do {
            _ = try await ClusterSource.open(
                ClusterTarget(kubeconfig: fixture.kubeconfig), environment: ["HOME": fixture.folder],
                logger: Logger(label: "test.kube"))
            Issue.record("spaces: was taken as a setting")
        } catch {
            #expect(error.description.contains("spaces"), "\(error)")
        }
    }
}
