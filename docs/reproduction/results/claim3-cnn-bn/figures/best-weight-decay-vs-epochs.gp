set terminal pngcairo noenhanced size 1100,670 font 'Sans,12'
set output 'best-weight-decay-vs-epochs.png'
set title 'weight decay with the lowest mean final test error, per training length'
set xlabel 'training length (epochs), log scale (base 2)'
set ylabel 'best weight decay'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 7
set datafile missing 'NaN'
set logscale x 2
set xtics ('1' 1, '2' 2, '4' 4, '8' 8, '16' 16)
set ytics ('0' 0, '0.0003' 0.0003, '0.001' 0.001, '0.003' 0.003, '0.01' 0.01, '0.03' 0.03, '0.1' 0.1)
set xrange [0.8467453123625273:18.895882582872485]
set yrange [-0.0015:0.0315]
plot 'best-weight-decay-vs-epochs.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'all runs'
set terminal svg noenhanced size 1100,670 dynamic font 'Sans,12'
set output 'best-weight-decay-vs-epochs.svg'
replot
unset output
