#ifndef DRIFTLINE_CZSTD_SHIM_H
#define DRIFTLINE_CZSTD_SHIM_H
/* The buffer-less decompression functions (ZSTD_decompressBegin, ZSTD_decompressContinue,
   ZSTD_nextSrcSizeToDecompress, ZSTD_getFrameHeader) are declared in zstd.h's
   static-linking section; libzstd.so exports them. Header and library come from the same
   Debian package, so the ZSTD_frameHeader layout matches. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>
#endif
