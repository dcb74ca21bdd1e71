#!/usr/bin/env bash
# The committed pinned AMD roots (src/lib/verify/snp_roots.c) are exactly what
# tools/gen-snp-roots makes from the shared vectors: no hand edits, no drift.
set -euo pipefail
src=${VEIL_SOURCE_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp "$src/.clang-format" "$work/"
"$src/tools/gen-snp-roots" "${VEIL_SHARED_DIR:?}/vectors" "$work/snp_roots.c" >/dev/null
diff -u "$src/src/lib/verify/snp_roots.c" "$work/snp_roots.c"
echo "snp_roots.c matches tools/gen-snp-roots"
