set terminal pngcairo noenhanced size 1100,670 font 'Sans,12'
set output 'curves-weight-norm-batch-size=4096.png'
set title 'Weight norm per epoch -- batch 4096 (mean over seeds, band: 95% CI of the mean)'
set xlabel 'epoch'
set ylabel 'weight norm ||theta|| (end of epoch)'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 7
set datafile missing 'NaN'
set xtics 1
set xrange [0.75:6.25]
set yrange [159.329502807087:231.34243172323806]
plot 'curves-weight-norm-batch-size=4096.dat' index 0 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#1f77b4' notitle, \
     'curves-weight-norm-batch-size=4096.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'batch 4096'
set terminal svg noenhanced size 1100,670 dynamic font 'Sans,12'
set output 'curves-weight-norm-batch-size=4096.svg'
replot
unset output
