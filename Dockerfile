# The image compose.yaml runs (web and worker alike). CPU-only; a GPU recognizer image would start
# from a CUDA base and install a CUDA build of CTranslate2. Nothing is downloaded at run time.
FROM python:3.11-slim
RUN useradd --system --home /var/lib/sottovoce sottovoce && mkdir -p /var/lib/sottovoce && chown sottovoce /var/lib/sottovoce
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
COPY sottovoce ./sottovoce
RUN pip install --no-cache-dir -c requirements.lock .
USER sottovoce
EXPOSE 8000
CMD ["sottovoce", "serve", "--no-worker", "--host", "0.0.0.0"]
