#!/usr/bin/env bash
# veil tensor without a server or a model: usage, images in every accepted format and refused
# ones, responses decoded and refused, each refusal one line.
source "$(dirname "$0")/lib.sh"
SRC=${VEIL_SOURCE_DIR:?}
T() { "$VEIL" tensor "$@"; }

expect_exit 0 "veil tensor --help" -- T --help
expect_stdout "usage: veil tensor from-image" "usage shown"
expect_exit 0 "from-image --help" -- T from-image --help
expect_exit 2 "no subcommand" -- T
expect_exit 2 "unknown subcommand" -- T to-image x
expect_exit 2 "from-image without an image" -- T from-image
expect_exit 2 "a bad --height" -- T from-image --height 0x10 x.png
expect_stderr "^veil tensor: --height: a number up to 8192" "the option is named"
expect_exit 2 "a bad --name" -- T from-image --name 'a"b' x.png
expect_exit 2 "a bad --std" -- T from-image --std nan x.png
expect_exit 2 "--std 0" -- T from-image --std 0 "$SRC/tests/data/ocr/sealed-model-2026.png"
expect_exit 2 "--height 2000" -- T from-image --height 2000 "$SRC/tests/data/ocr/sealed-model-2026.png"
expect_stderr "tensor geometry out of range" "the geometry refusal says what is allowed"
expect_exit 2 "ctc-decode without --labels" -- T ctc-decode resp.json

# Images
expect_exit 0 "a PNG" -- T from-image "$SRC/tests/data/ocr/sealed-model-2026.png" -o req.json
expect_stderr "305x49 -> input x \[1, 3, 48, 320\] FP32" "resized to 48 high, padded to 320"
jq -e '.inputs[0].shape == [1,3,48,320] and (.inputs[0].data | length) == 46080 and .inputs[0].datatype == "FP32"' req.json >/dev/null &&
    ok "a KServe v2 request with 3 x 48 x 320 values" || not_ok "request body"
jq -e '[.inputs[0].data[] | select(. < -1 or . > 1)] | length == 0' req.json >/dev/null &&
    ok "values normalised to -1..1" || not_ok "normalisation"
printf 'P6\n2 1\n255\n\xff\x00\x00\x00\x00\xff' > rb.ppm
expect_exit 0 "a PPM, --min-width 0 --width-multiple 1 --height 1" -- \
    T from-image rb.ppm --height 1 --min-width 0 --width-multiple 1 --name img -o ppm.json
jq -c . ppm.json > ppm.c.json
grep -qF '{"inputs":[{"name":"img","shape":[1,3,1,2],"datatype":"FP32","data":[-1,1,-1,-1,1,-1]}]}' ppm.c.json &&
    ok "BGR planes: blue, green, red" || not_ok "ppm request: $(cat ppm.c.json)"
expect_exit 0 "--rgb" -- T from-image rb.ppm --height 1 --min-width 0 --width-multiple 1 --rgb
expect_stdout '"data":\[1,-1,-1,-1,-1,1\]' "RGB planes: red, green, blue"
printf 'P5 1 1 255\n' > short.pgm
expect_exit 1 "a truncated PGM" -- T from-image short.pgm
expect_stderr "^veil tensor: short.pgm: image is malformed" "one line"
printf 'P6 9000 1 255\n' > wide.ppm
expect_exit 1 "a PPM too wide" -- T from-image wide.ppm
expect_stderr "exceeds the limit" "the limit is named"
head -c 300 "$SRC/tests/data/ocr/sealed-model-2026.png" > cut.png
expect_exit 1 "a truncated PNG" -- T from-image cut.png
expect_stderr "^veil tensor: cut.png: image is malformed" "one line"
printf 'GIF89a' > a.gif
expect_exit 1 "a GIF" -- T from-image a.gif
expect_stderr "not a PNG or a binary PGM/PPM" "the formats are named"
expect_exit 1 "a missing file" -- T from-image nope.png
expect_absent req2.json "nothing written on failure"

# Responses (labels a, b; classes blank, a, b, space)
printf 'a\nb\n' > labels.txt
printf '{"model_name":"m","outputs":[{"name":"p","datatype":"FP32","shape":[1,5,4],"data":[0,0.9,0.1,0, 0,0.8,0.2,0, 0.7,0.1,0.1,0.1, 0,0,0.1,0.9, 0,0.2,0.7,0.1]}]}' > resp.json
expect_exit 0 "ctc-decode a response" -- T ctc-decode --labels labels.txt resp.json
expect_stdout "^text: a b$" "repeats collapsed, blank dropped, space class"
expect_stdout "^confidence: 0.833 \(mean over 3 characters\)" "mean confidence of the kept steps"
expect_exit 0 "from stdin, --json" -- sh -c "\"$VEIL\" tensor ctc-decode --labels labels.txt --json - < resp.json"
expect_stdout '^\{"text":"a b","confidence":0.83[0-9]*,"characters":3\}' "JSON output"
expect_exit 1 "labels that do not fit" -- T ctc-decode --labels labels.txt --no-space resp.json
expect_stderr "the output has 4 classes but labels.txt has 2 labels \(\+1 blank\)" "both counts named"
: > empty.json
expect_exit 1 "an empty response" -- sh -c "\"$VEIL\" tensor ctc-decode --labels labels.txt < empty.json"
expect_stderr "stdin: no response \(empty input\)" "said plainly"
printf '{"error":"model not ready"}' > err.json
expect_exit 1 "an error response" -- T ctc-decode --labels labels.txt err.json
expect_stderr "^veil tensor: err.json: the server answered an error: model not ready$" "the server's words, one line"
printf '<html>502</html>' > html.json
expect_exit 1 "not JSON" -- T ctc-decode --labels labels.txt html.json
expect_stderr "not a JSON object" "said plainly"
printf '\xff\xfe\n' > bad-labels.txt
expect_exit 1 "labels not UTF-8" -- T ctc-decode --labels bad-labels.txt resp.json
expect_stderr "label file is malformed" "said plainly"
finish
