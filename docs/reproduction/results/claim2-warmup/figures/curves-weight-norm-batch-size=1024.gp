set terminal pngcairo noenhanced size 1100,650 font 'Sans,12'
set output 'curves-weight-norm-batch-size=1024.png'
set title 'Weight norm per epoch -- batch 1024 (mean over seeds, band: lowest to highest)'
set xlabel 'epoch'
set ylabel 'weight norm ||theta|| (end of epoch)'
set grid
set key outside right top box
set datafile missing 'NaN'
set xtics 1
set xrange [0.75:6.25]
set yrange [29.067193774979188:40.42941710609748]
plot 'curves-weight-norm-batch-size=1024.dat' index 0 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#1f77b4' notitle, \
     'curves-weight-norm-batch-size=1024.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'batch 1024'
set terminal svg noenhanced size 1100,650 dynamic font 'Sans,12'
set output 'curves-weight-norm-batch-size=1024.svg'
replot
unset output
