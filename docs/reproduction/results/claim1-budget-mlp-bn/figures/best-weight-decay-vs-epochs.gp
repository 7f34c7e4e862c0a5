set terminal pngcairo noenhanced size 1100,750 font 'Sans,12'
set output 'best-weight-decay-vs-epochs.png'
set title 'weight decay with the lowest mean final test error, per training length'
set xlabel 'training length (epochs), log scale (base 2)'
set ylabel 'best weight decay'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 8
set datafile missing 'NaN'
set logscale x 2
set xtics ('4' 4, '16' 16)
set ytics ('0.0003' 0.0003, '0.001' 0.001, '0.003' 0.003, '0.01' 0.01)
set xrange [3.4782608695652177:18.4]
set yrange [0.000265:0.0010350000000000001]
plot 'best-weight-decay-vs-epochs.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'sgd', \
     'best-weight-decay-vs-epochs.dat' index 1 using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title 'sgds', \
     'best-weight-decay-vs-epochs.dat' index 2 using 1:2 with linespoints linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#2ca02c' dashtype 1 title 'adam', \
     'best-weight-decay-vs-epochs.dat' index 3 using 1:2 with linespoints linewidth 2 pointtype 11 pointsize 0.8 linecolor rgb '#d62728' dashtype 1 title 'adamw', \
     'best-weight-decay-vs-epochs.dat' index 4 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#9467bd' dashtype 1 title 'adams'
set terminal svg noenhanced size 1100,750 dynamic font 'Sans,12'
set output 'best-weight-decay-vs-epochs.svg'
replot
unset output
