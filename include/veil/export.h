#ifndef VEIL_EXPORT_H
#define VEIL_EXPORT_H

/* libveil is built with -fvisibility=hidden; only VEIL_API symbols are exported. */
#define VEIL_API __attribute__((visibility("default")))

#endif
