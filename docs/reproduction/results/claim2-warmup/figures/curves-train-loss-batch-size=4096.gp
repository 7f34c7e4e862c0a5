set terminal pngcairo noenhanced size 1100,670 font 'Sans,12'
set output 'curves-train-loss-batch-size=4096.png'
set title 'Training loss per epoch -- batch 4096 (mean over seeds, band: 95% CI of the mean)'
set xlabel 'epoch'
set ylabel 'training loss (cross-entropy), log scale'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 7
set datafile missing 'NaN'
set logscale y 10
set ytics ('0.6' 0.6, '0.7' 0.7, '0.8' 0.8, '0.9' 0.9, '1' 1, '2' 2, '3' 3)
set xtics 1
set xrange [0.75:6.25]
set yrange [0.5213033649261136:3.95742874927448]
plot 'curves-train-loss-batch-size=4096.dat' index 0 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#1f77b4' notitle, \
     'curves-train-loss-batch-size=4096.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'batch 4096'
set terminal svg noenhanced size 1100,670 dynamic font 'Sans,12'
set output 'curves-train-loss-batch-size=4096.svg'
replot
unset output
