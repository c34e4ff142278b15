{
  "targets": [
    {
      "target_name": "cove_inotify",
      "sources": ["src/inotify.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
