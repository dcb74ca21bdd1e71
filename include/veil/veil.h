/*
 * libveil: confidential model deployment. One header for the whole public API.
 * Functions return 0 on success or -VEIL_ERR_* (include/veil/error.h).
 */
#ifndef VEIL_VEIL_H
#define VEIL_VEIL_H

#include <veil/error.h>
#include <veil/export.h>
#include <veil/log.h>
#include <veil/model.h>
#include <veil/secret.h>

/* "MAJOR.MINOR.PATCH" */
VEIL_API const char *veil_version(void);

#endif
