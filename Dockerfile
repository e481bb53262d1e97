# One image for every dialogpaint part; the base image and the extras pick the role:
#   service replicas:   docker build -t dialogpaint .                       (python slim, CPU only)
#   Ray head / GPU workers: docker build -t dialogpaint-ray \
#       --build-arg BASE=rayproject/ray:2.60.0-py311-gpu --build-arg EXTRAS=gpu,ray,s3,remote --build-arg LOCK= .
# LOCK installs through constraints.txt, the versions CI tested (Linux x86_64, Python 3.11); the Ray images
# leave it empty to keep the base image's own Ray, CUDA torch and their pins.
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG EXTRAS=serve,postgres,s3,vllm
ARG LOCK=constraints.txt
# A build directory any user may write to (the Ray images run as the unprivileged user "ray").
WORKDIR /tmp/dialogpaint-src
COPY pyproject.toml README.md constraints.txt ./
COPY agent ./agent
COPY graphs ./graphs
COPY tools ./tools
RUN pip install --no-cache-dir ${LOCK:+-c "$LOCK"} ".[${EXTRAS}]"
# Nothing is written inside the image: sessions live in Postgres, images in the S3 bucket.
ENV DIALOGPAINT_DATA_DIR=/tmp/dialogpaint
EXPOSE 8000
CMD ["dialogpaint", "serve", "--host", "0.0.0.0", "--port", "8000"]
