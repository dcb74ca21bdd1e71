#!/usr/bin/env bash
# veil keygen / seal / open / inspect from the command line, including every refusal.
source "$(dirname "$0")/lib.sh"

for cmd in keygen seal open inspect version; do
    expect_exit 0 "veil $cmd --help" -- "$VEIL" $cmd --help
done
expect_exit 0 "veil --help" -- "$VEIL" --help
expect_stdout "seal" "top-level help lists commands"
expect_exit 2 "unknown command" -- "$VEIL" frobnicate
expect_exit 2 "no command" -- "$VEIL"

expect_exit 0 "keygen model" -- "$VEIL" keygen model -o model.key
[ "$(stat -c %a model.key)" = 600 ] && [ "$(stat -c %s model.key)" = 32 ] && ok "model key is 32 bytes, mode 600" || not_ok "model key mode/size"
expect_exit 1 "keygen refuses to overwrite" -- "$VEIL" keygen model -o model.key
expect_stderr "already exists" "overwrite refusal says why"
expect_exit 0 "keygen signer" -- "$VEIL" keygen signer -o provider.key
[ "$(stat -c %a provider.key)" = 600 ] && grep -q "BEGIN PUBLIC KEY" provider.pub && ok "signer key 600 + provider.pub" || not_ok "signer key files"
expect_exit 0 "keygen signer p384" -- "$VEIL" keygen signer --alg p384 -o other.key
expect_exit 2 "keygen bad alg" -- "$VEIL" keygen signer --alg rsa -o x.key

head -c 2500000 /dev/urandom > model.onnx
expect_exit 2 "seal without --name" -- "$VEIL" seal --key model.key --sign provider.key model.onnx -o m.veil
expect_exit 2 "seal bad chunk size" -- "$VEIL" seal --key model.key --sign provider.key --name a --model-version 1 --chunk-size 10 model.onnx -o m.veil
expect_exit 0 "seal" -- "$VEIL" seal --key model.key --sign provider.key --name ocr-rec --model-version 4.0 --chunk-size 256K model.onnx -o m.veil
expect_stdout "^model id: [0-9a-f]{64}$" "seal prints the model id"
id=$(sed -n 's/^model id: //p' out.txt)

expect_exit 0 "inspect without key" -- "$VEIL" inspect m.veil
expect_stdout "\"model_id\": \"$id\"" "inspect shows the same model id"
expect_stdout '"signature": "not checked' "inspect says the signature was not checked"
expect_exit 0 "inspect --signer" -- "$VEIL" inspect m.veil --signer provider.pub
expect_stdout '"signature": "verified"' "inspect verifies the signature"
expect_exit 1 "inspect --signer other" -- "$VEIL" inspect m.veil --signer other.pub
expect_stdout '"signature": "sealed model was signed by a different key' "inspect names the wrong signer"

expect_exit 0 "open" -- "$VEIL" open --key model.key --signer provider.pub m.veil -o out.onnx
cmp -s model.onnx out.onnx && ok "round trip is byte-identical" || not_ok "round trip differs"
expect_exit 1 "open refuses to overwrite" -- "$VEIL" open --key model.key --signer provider.pub m.veil -o out.onnx
expect_exit 0 "open --force, --threads 1, expected identity" -- "$VEIL" open --key model.key --signer provider.pub --threads 1 --name ocr-rec --model-version 4.0 --model-id "$id" --force m.veil -o out.onnx
rm -f out.onnx

expect_exit 2 "open to stdout is refused" -- "$VEIL" open --key model.key --signer provider.pub m.veil -o -
expect_stderr "cannot be held back until the whole file has verified" "stdout refusal says why"
"$VEIL" open --key model.key --signer provider.pub --unsafe-stream m.veil -o - > streamed.onnx 2>/dev/null && cmp -s model.onnx streamed.onnx && ok "--unsafe-stream streams the plaintext" || not_ok "--unsafe-stream"

# Refusals: each a specific message, and nothing left behind.
cp m.veil t.veil; printf '\xff' | dd of=t.veil bs=1 seek=1000 conv=notrunc status=none
expect_exit 1 "open tampered chunk" -- "$VEIL" open --key model.key --signer provider.pub t.veil -o out.onnx
expect_stderr "chunk failed authentication" "tampered chunk is named"
expect_absent out.onnx "no output after a tampered chunk"
cp m.veil t.veil; printf 'X' | dd of=t.veil bs=1 seek=40 conv=notrunc status=none
expect_exit 1 "open tampered header" -- "$VEIL" open --key model.key --signer provider.pub t.veil -o out.onnx
expect_stderr "signature over the manifest does not verify" "tampered header is named"
expect_absent out.onnx "no output after a tampered header"
head -c $(( $(stat -c %s m.veil) - 100 )) m.veil > t.veil
expect_exit 1 "open truncated" -- "$VEIL" open --key model.key --signer provider.pub t.veil -o out.onnx
expect_stderr "truncated" "truncation is named"
expect_absent out.onnx "no output after truncation"
cp m.veil t.veil; printf 'extra' >> t.veil
expect_exit 1 "open extended" -- "$VEIL" open --key model.key --signer provider.pub t.veil -o out.onnx
expect_stderr "bytes after its last chunk" "extension is named"
expect_absent out.onnx "no output after extension"
"$VEIL" keygen model -o wrong.key >/dev/null
expect_exit 1 "open with the wrong model key" -- "$VEIL" open --key wrong.key --signer provider.pub m.veil -o out.onnx
expect_stderr "wrong model key" "wrong key is named"
expect_exit 1 "open with the wrong signer" -- "$VEIL" open --key model.key --signer other.pub m.veil -o out.onnx
expect_stderr "different key" "wrong signer is named"
cp m.veil other-name.veil
expect_exit 1 "renamed file opened as another model" -- "$VEIL" open --key model.key --signer provider.pub --name det --model-version 4.0 other-name.veil -o out.onnx
expect_stderr "not the one expected" "identity mismatch is named"
expect_absent out.onnx "no output after any refusal"
chmod 644 model.key
expect_exit 1 "model key readable by others" -- "$VEIL" open --key model.key --signer provider.pub m.veil -o out.onnx
expect_stderr "chmod 600" "permission refusal says how to fix it"
chmod 600 model.key
expect_exit 1 "not a sealed file" -- "$VEIL" open --key model.key --signer provider.pub model.onnx -o out.onnx
expect_stderr "bad magic" "a plain file is named as such"
expect_exit 1 "missing input" -- "$VEIL" inspect nope.veil
expect_stderr "cannot open" "missing file is named"

finish
