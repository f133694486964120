# The memprobe image: FROM scratch around one static binary (built by scripts/build-images.sh).
FROM scratch
# The binary first: with the classic builder, a LABEL step on scratch before any layer was
# committed as the host's platform and broke `--platform linux/arm64` builds.
COPY memprobe /memprobe
ARG VERSION=dev
ARG SOURCE=https://github.com/fargate-bench/fargate-bench
LABEL org.opencontainers.image.title="memprobe" \
      org.opencontainers.image.description="fargate-bench memprobe probe" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
# nobody:nogroup; scratch has no /etc/passwd, numeric ids need none.
USER 65534:65534
ENTRYPOINT ["/memprobe"]
