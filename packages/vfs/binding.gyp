{
  "targets": [
    {
      "target_name": "cartridge_vfs",
      "sources": ["native/cartridge_vfs.c"],
      "include_dirs": ["native/include"],
      "cflags": ["-O2", "-std=c11", "-D_GNU_SOURCE"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O2"] }
    }
  ]
}
