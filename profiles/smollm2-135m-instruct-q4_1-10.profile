ffnskip-profile 1
# span 2: tau 0.98536 ratio 0.1030 nll 4.0863
# span 4: tau 0.98780 ratio 0.1028 nll 4.2031
# calibrated on /work/shared/eval/calib.txt: 1024 tokens in windows of 256; realised ratio 0.1030 (target 0.10)
policy ffn-skip
threshold 0.985356
warmup 4
cold 3 2
span 2
target 0.1000
seed 1
similarity 0.06826 0.96311 0.96772 0.97446 0.97179 0.97099 0.97163 0.96584 0.96269 0.96643 0.96150 0.97116 0.97495 0.97877 0.97961 0.97930 0.98226 0.98270 0.96741 0.96911 0.95007 0.96770 0.96109 0.96141 0.97324 0.98037 0.97363 0.96971 0.96380 0.74164
