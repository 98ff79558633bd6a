extension SpacesFile {
    /// What `spaceport init` writes: the Azure Dev Spaces example, every key explained.
    public static let starter = """
        # spaces.yaml: the dev spaces Spaceport routes requests between.
        #
        # A request is routed as a space: the one its route header names, else the one its
        # host names (http://azureuser.s.default.servicea.localhost:8080/), else default_space.
        # Spaceport walks from that space to its parent and grandparent, and the first space
        # with an enabled instance of the service serves the request.

        # The header that carries the route-as space; requests keep it as they go upstream.
        route_header: azds-route-as
        # Ingress host names end in this domain: *.localhost needs no DNS set-up.
        domain: localhost
        # Where a request goes when it names no space, or a space that does not exist.
        default_space: default
        # Where the proxy listens for browsers, curl and tests.
        ingress: 127.0.0.1:8080
        # Where the admin listener serves /metrics (Prometheus), /healthz, /readyz and /tree;
        # off unless set here or with --admin. Another machine may reach it only with --admin-token-file.
        # admin: 127.0.0.1:9901
        # Proxies in front of this one (addresses or CIDR blocks) whose X-Forwarded-Host and
        # X-Forwarded-Proto are kept; from anyone else the proxy writes what it saw.
        # trusted_proxies: [10.0.0.0/8]

        # Where a request's route-as may travel besides the route header, read in this order after
        # it, then the Host, then trace memory. The proxy writes route-as into each on the way out
        # (write: false keeps it from writing one), so an app that passes on any of them keeps the
        # route. These are the defaults; uncomment to change them.
        # propagation:
        #   write_route_header: true
        #   headers: [kubernetes-route-as]            # Bridge to Kubernetes
        #   baggage: [azds-route-as, okteto-divert]   # W3C baggage members; add sd-routing-key for Signadot
        #   trace_memory: { seconds: 60, traces: 100000 }   # traces: 0 turns it off

        # What one client or upstream may cost the proxy. Uncomment a line to change it.
        # limits:
        #   max_header_bytes: 65536
        #   max_header_count: 100
        #   header_timeout_ms: 10000
        #   idle_timeout_ms: 60000
        #   connect_timeout_ms: 5000
        #   upstream_timeout_ms: 60000
        #   drain_timeout_ms: 5000
        #   max_upstream_connections: 512
        #   max_upstream_queue: 1024
        #   max_idle_upstream_connections: 128
        #   # Requests kept so one can be sent again as another space (R in the dashboard), what
        #   # they take at most, and the largest body kept (at most 1048576). 0 keeps none.
        #   replay_requests: 100
        #   replay_bytes: 1048576
        #   replay_body_bytes: 0

        # Headers whose values never leave the proxy on its feed, besides authorization, cookie
        # and proxy-authorization; a replay sends them again from inside the proxy only.
        # sensitive_headers: [x-api-key]

        # Spaces form a tree at most three levels deep: root, child, grandchild. Names are
        # DNS labels: lowercase letters, digits and '-'.
        spaces:
          # The shared root, where the team runs every service.
          default:
            services:
              # A service and the address it really listens on.
              servicea: { upstream: 127.0.0.1:5001 }
              serviceb: { upstream: 127.0.0.1:5002 }

          # A developer's space: it runs its own servicea and inherits serviceb from default.
          azureuser:
            parent: default
            services:
              # enabled: false turns this override off, so azureuser uses default's servicea.
              # egress is the app's outbound proxy (its HTTP_PROXY): calls through it stay in azureuser.
              servicea: { upstream: 127.0.0.1:6001, enabled: true, egress: 127.0.0.1:7001 }

        """
}
