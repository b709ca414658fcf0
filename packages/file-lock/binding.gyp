{
  "targets": [
    {
      "target_name": "file_lock",
      "sources": ["native/file_lock.c"],
      "cflags": ["-O2", "-std=gnu11", "-Wall", "-Wextra"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O2", "-Wall"] }
    }
  ]
}
