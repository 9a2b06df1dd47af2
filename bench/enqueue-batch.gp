# SPDX-License-Identifier: MIT
# Enqueue throughput against messages per transaction (bench/run.sh).
# gnuplot -e "results='bench/results'; out='bench/enqueue-batch.png'" bench/enqueue-batch.gp
set terminal pngcairo size 1200,520 font "DejaVu Sans,11"
set output out
set termoption noenhanced
dat = results."/enqueue-batch.dat"
set multiplot layout 1,2 title "Enqueue: messages per second against messages per transaction (WAL, synchronous=NORMAL)"
set logscale xy
set xrange [0.7:1500]
set xtics ("1" 1, "10" 10, "100" 100, "1000" 1000)
set format y "%.0s%c"
set grid xtics ytics mytics
set key bottom right
set xlabel "messages per transaction"
set ylabel "msg/s (wall clock)"
set title "wall clock (shared, noisy machine)"
plot dat u 1:2 w lp lw 2 pt 7 t "mp: mp_enqueue()", \
     dat u 1:3 w lp lw 2 pt 5 t "mp: mp_enqueue_batch()", \
     dat u 1:4 w lp lw 2 pt 9 dt 2 t "raw-same (mp's table and SQL)", \
     dat u 1:5 w lp lw 2 pt 13 dt 3 t "raw-min (hand-written queue)"
set ylabel "msg/s = 1e6 / (CPU us per message)"
set title "CPU time of the process (steadier)"
plot dat u 1:6 w lp lw 2 pt 7 t "mp: mp_enqueue()", \
     dat u 1:7 w lp lw 2 pt 5 t "mp: mp_enqueue_batch()", \
     dat u 1:8 w lp lw 2 pt 9 dt 2 t "raw-same (mp's table and SQL)", \
     dat u 1:9 w lp lw 2 pt 13 dt 3 t "raw-min (hand-written queue)"
unset multiplot
