# The proxy's image: spaceport built in release with the Swift runtime linked in, on a slim
# Debian with only the packages image/packages lists (interop/static/run proves they suffice).
#   docker build -t spaceport:0.1.0 .
# The builder is Debian bookworm too (swift:6.3-bookworm), so the binary asks for no newer glibc
# than the runtime has.
FROM swift:6.3-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libncurses-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN swift build -c release --static-swift-stdlib --product spaceport \
    && install -D "$(swift build -c release --static-swift-stdlib --show-bin-path)/spaceport" /out/spaceport

FROM debian:bookworm-slim
COPY image/packages /tmp/packages
RUN apt-get update \
    && grep -v '^#' /tmp/packages | xargs apt-get install -y --no-install-recommends \
    && rm -rf /var/lib/apt/lists/* /tmp/packages \
    && useradd --uid 65532 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin spaceport
COPY --from=build /out/spaceport /usr/local/bin/spaceport
# Numeric, so Kubernetes can check runAsNonRoot; the manifests run as the same user.
USER 65532:65532
ENTRYPOINT ["spaceport"]
