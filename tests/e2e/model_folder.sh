# Sourced by the end-to-end scripts: reads a reference model folder ($dir:
# model.json, input_<name>.npy, expected_<name>.npy, optional flags.txt)
# into the arrays `flags` (kiln flags: the script's extra arguments, then
# flags.txt), `inputs` (--input NAME=FILE pairs) and `outputs` (the output
# names).
flags=("$@")
if [ -f "$dir/flags.txt" ]; then
  read -r -a extra < <(tr "\n" " " < "$dir/flags.txt") || true
  flags+=("${extra[@]}")
fi
inputs=() outputs=()
for f in "$dir"/input_*.npy; do
  n=$(basename "$f" .npy); inputs+=(--input "${n#input_}=$f")
done
for f in "$dir"/expected_*.npy; do
  n=$(basename "$f" .npy); outputs+=("${n#expected_}")
done
