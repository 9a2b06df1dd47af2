# SPDX-License-Identifier: MIT
# Latency of the hot calls against the table size (bench/run.sh).
# gnuplot -e "results='bench/results'; out='bench/scale-latency.png'" bench/scale-latency.gp
set terminal pngcairo size 1200,520 font "DejaVu Sans,11"
set output out
set termoption noenhanced
dat = results."/scale.dat"
set multiplot layout 1,2 title "Latency against rows in the messages table (1% pending, the rest confirmed or failed)"
set logscale xy
set xrange [5000:20000000]
set xtics ("10k" 10000, "100k" 100000, "1M" 1000000, "10M" 10000000)
set grid xtics ytics mytics
set key top left
set yrange [8:3e5]
set xlabel "rows in messages"
set ylabel "latency per call (median)"
set ytics ("10 us" 10, "100 us" 100, "1 ms" 1000, "10 ms" 10000, "100 ms" 100000)
set title "CPU time"
plot dat u 1:3 w lp lw 2 pt 7 t "claim(100) + 100 confirms (one tx)", \
     dat u 1:5 w lp lw 2 pt 5 t "SELECT * FROM mp_stats", \
     dat u 1:7 w lp lw 2 pt 9 t "mp_next_due()", \
     dat u 1:9 w lp lw 2 pt 13 t "mp_enqueue(), autocommit"
set title "wall clock (shared, noisy machine)"
plot dat u 1:2 w lp lw 2 pt 7 t "claim(100) + 100 confirms (one tx)", \
     dat u 1:4 w lp lw 2 pt 5 t "SELECT * FROM mp_stats", \
     dat u 1:6 w lp lw 2 pt 9 t "mp_next_due()", \
     dat u 1:8 w lp lw 2 pt 13 t "mp_enqueue(), autocommit"
unset multiplot
