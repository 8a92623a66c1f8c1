# hodometer as a container: the compiled binary alone on distroless.
#
#   docker build \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg GIT_COMMIT="$(git rev-parse HEAD)" \
#     --build-arg SOURCE_URL=<this repository's URL> \
#     -t hodometer .
#   docker run hodometer                  # the agent (`run`)
#   docker run -p 8001:8001 hodometer receive
#
# The build stage compiles for its own architecture (TARGETARCH, set by
# BuildKit: amd64 or arm64), so `docker buildx build --platform
# linux/amd64,linux/arm64` gives both. The binary's Deno permissions are baked
# in by scripts/compile.sh (see scripts/permissions.ts); STATE_DIR is
# /var/lib/hodometer here, owned by the image's user.

ARG DENO_VERSION=2.9.6

FROM denoland/deno:debian-${DENO_VERSION} AS build
ARG TARGETARCH
ARG VERSION=""
ARG GIT_COMMIT=""
WORKDIR /src
COPY deno.json deno.lock main.ts ./
COPY src ./src
COPY scripts/compile.sh scripts/compile.ts scripts/permissions.ts ./scripts/
RUN case "${TARGETARCH:-amd64}" in \
      amd64) target=x86_64-unknown-linux-gnu ;; \
      arm64) target=aarch64-unknown-linux-gnu ;; \
      *) echo "unsupported TARGETARCH: ${TARGETARCH}" >&2; exit 2 ;; \
    esac \
 && VERSION="${VERSION}" GIT_COMMIT="${GIT_COMMIT}" \
    bash scripts/compile.sh --target "${target}" --out-dir /out \
 && mv "/out/hodometer-${target}" /out/hodometer \
 && mkdir -p /out/state

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=""
ARG GIT_COMMIT=""
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="hodometer" \
      org.opencontainers.image.description="Privacy-first usage telemetry agent for Seldon Core 2" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_COMMIT}"
COPY --from=build /out/hodometer /hodometer
COPY --from=build --chown=1000:1000 /out/state /var/lib/hodometer
ENV STATE_DIR=/var/lib/hodometer
# uid/gid 1000 as in the stock Seldon chart and deploy/kubernetes/.
USER 1000:1000
ENTRYPOINT ["/hodometer"]
CMD ["run"]
