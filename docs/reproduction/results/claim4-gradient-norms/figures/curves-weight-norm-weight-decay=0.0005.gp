set terminal pngcairo noenhanced size 1100,650 font 'Sans,12'
set output 'curves-weight-norm-weight-decay=0.0005.png'
set title 'Weight norm per epoch -- wd 0.0005 (mean over seeds)'
set xlabel 'epoch'
set ylabel 'weight norm ||theta|| (end of epoch)'
set grid
set key outside right top box
set datafile missing 'NaN'
set xtics 2
set xrange [0.04999999999999993:20.95]
set yrange [14.148069622910027:22.439815017405913]
plot 'curves-weight-norm-weight-decay=0.0005.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'sgd', \
     'curves-weight-norm-weight-decay=0.0005.dat' index 1 using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title 'sgds', \
     'curves-weight-norm-weight-decay=0.0005.dat' index 2 using 1:2 with linespoints linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#2ca02c' dashtype 1 title 'adam', \
     'curves-weight-norm-weight-decay=0.0005.dat' index 3 using 1:2 with linespoints linewidth 2 pointtype 11 pointsize 0.8 linecolor rgb '#d62728' dashtype 1 title 'adamw', \
     'curves-weight-norm-weight-decay=0.0005.dat' index 4 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#9467bd' dashtype 1 title 'adams'
set terminal svg noenhanced size 1100,650 dynamic font 'Sans,12'
set output 'curves-weight-norm-weight-decay=0.0005.svg'
replot
unset output
