#ifndef DRIFTLINE_CZSTD_SHIM_H
#define DRIFTLINE_CZSTD_SHIM_H
#include <zstd.h>
#include <zstd_errors.h>
#endif
