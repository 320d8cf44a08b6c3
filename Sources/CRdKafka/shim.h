#ifndef DRIFTLINE_CRDKAFKA_SHIM_H
#define DRIFTLINE_CRDKAFKA_SHIM_H
// Debian's librdkafka-dev installs the headers under <librdkafka/...>.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
