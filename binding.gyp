{
  "targets": [
    {
      "target_name": "cairn_rank",
      "sources": [
        "native/src/binding.cc",
        "native/src/intern_table.cc",
        "native/src/rank_index.cc",
        "native/src/rank_tree.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-O2"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20", "-O2"],
      "cflags": ["-O3", "-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-exceptions", "-Wall", "-Wextra"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_OPTIMIZATION_LEVEL": "3",
        "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 0, "AdditionalOptions": ["/std:c++17", "/O2"] }
      }
    }
  ]
}
