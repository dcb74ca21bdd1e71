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
# The same input as a TensorProto (for veil onnx run|bench --input x=FILE): its raw_data, the
# last field, holds the very values the binary request carries.
expect_exit 0 "--onnx" -- T from-image --onnx "$SRC/tests/data/ocr/sealed-model-2026.png" -o x.pb
expect_stderr "\(TensorProto\)" "says what it wrote"
T from-image --binary "$SRC/tests/data/ocr/sealed-model-2026.png" -o req.bin >/dev/null 2>&1
cmp -s <(tail -c $((3 * 48 * 320 * 4)) x.pb) <(tail -c $((3 * 48 * 320 * 4)) req.bin) &&
    ok "the TensorProto's values are the binary request's" || not_ok "TensorProto values differ"
head -c 16 x.pb | od -An -tx1 | tr -d ' \n' | grep -q '^08010803083008c002' &&
    ok "dims 1, 3, 48, 320 first" || not_ok "TensorProto head: $(head -c 16 x.pb | od -An -tx1)"
expect_exit 2 "--onnx without -o" -- T from-image --onnx "$SRC/tests/data/ocr/sealed-model-2026.png"
expect_exit 2 "--onnx with --binary" -- T from-image --onnx --binary "$SRC/tests/data/ocr/sealed-model-2026.png" -o y.pb
expect_stderr "one or the other" "the clash is named"
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
expect_exit 2 "--binary without -o" -- T from-image --binary "$SRC/tests/data/ocr/sealed-model-2026.png"
expect_stderr "needs -o FILE" "said plainly"
expect_exit 0 "--binary -o FILE" -- T from-image --binary "$SRC/tests/data/ocr/sealed-model-2026.png" -o req.bin
n=$(cat "$WORK/out.txt")
[[ $n =~ ^[0-9]+$ ]] && ok "stdout is the header length ($n)" || not_ok "stdout: $n"
[ "$(stat -c %s req.bin)" = $((n + 3 * 48 * 320 * 4)) ] && ok "header, then 3 x 48 x 320 FP32 values" ||
    not_ok "size $(stat -c %s req.bin)"
head -c "$n" req.bin | jq -e '.inputs[0].shape == [1,3,48,320] and .inputs[0].parameters.binary_data_size == 184320 and .parameters.binary_data_output == true and (.inputs[0] | has("data") | not)' >/dev/null &&
    ok "the header declares the binary input and asks for binary outputs" || not_ok "header: $(head -c "$n" req.bin)"

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
# Binary responses: JSON, then [1, 3, 4] FP32 little-endian (a, blank, b)
one='\x00\x00\x80\x3f' zero='\x00\x00\x00\x00'
hdr='{"model_name":"m","outputs":[{"name":"p","datatype":"FP32","shape":[1,3,4],"parameters":{"binary_data_size":48}}]}'
vals="$zero$one$zero$zero$one$zero$zero$zero$zero$zero$one$zero"
printf '%s' "$hdr" > bin.resp; printf "$vals" >> bin.resp
expect_exit 0 "a binary response, the JSON's end found" -- T ctc-decode --labels labels.txt bin.resp
expect_stdout "^text: ab$" "decoded from the binary part"
expect_exit 0 "--header-length given" -- T ctc-decode --labels labels.txt --header-length ${#hdr} bin.resp
expect_stdout "^text: ab$" "the same text"
expect_exit 0 "from stdin" -- sh -c "\"$VEIL\" tensor ctc-decode --labels labels.txt < bin.resp"
expect_exit 1 "--header-length inside the binary part" -- T ctc-decode --labels labels.txt --header-length $((${#hdr} + 4)) bin.resp
expect_stderr "^veil tensor: bin.resp: the first $((${#hdr} + 4)) bytes \(the header length\) are not one JSON object$" "one line"
expect_exit 1 "--header-length past the end" -- T ctc-decode --labels labels.txt --header-length 9999 bin.resp
expect_stderr "header length 9999 is past the end of the response" "said plainly"
expect_exit 2 "--header-length not a number" -- T ctc-decode --labels labels.txt --header-length x bin.resp
head -c $((${#hdr} + 40)) bin.resp > short.resp
expect_exit 1 "a truncated binary part" -- T ctc-decode --labels labels.txt short.resp
expect_stderr "its 48 binary bytes go past the end of the response \(40 bytes after the JSON\)" "said plainly"
cat bin.resp > long.resp; printf "$one" >> long.resp
expect_exit 1 "bytes left over" -- T ctc-decode --labels labels.txt long.resp
expect_stderr "52 bytes follow the JSON but its outputs declare 48" "said plainly"
printf '%s' "${hdr/48\}/44\}}" > size.resp; printf "$vals" | head -c 44 >> size.resp
expect_exit 1 "binary_data_size not the shape's" -- T ctc-decode --labels labels.txt size.resp
expect_stderr "binary_data_size 44 is not 48" "said plainly"
printf '\xff\xfe\n' > bad-labels.txt
expect_exit 1 "labels not UTF-8" -- T ctc-decode --labels bad-labels.txt resp.json
expect_stderr "label file is malformed" "said plainly"
finish
