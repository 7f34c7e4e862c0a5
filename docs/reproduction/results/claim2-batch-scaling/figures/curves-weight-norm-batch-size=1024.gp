set terminal pngcairo noenhanced size 1100,710 font 'Sans,12'
set output 'curves-weight-norm-batch-size=1024.png'
set title 'Weight norm per epoch -- batch 1024 (mean over seeds, band: 95% CI of the mean)'
set xlabel 'epoch'
set ylabel 'weight norm ||theta|| (end of epoch)'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 7
set datafile missing 'NaN'
set xtics 1
set xrange [0.75:6.25]
set yrange [15.071284966155998:55.39609263137743]
plot 'curves-weight-norm-batch-size=1024.dat' index 0 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#1f77b4' notitle, \
     'curves-weight-norm-batch-size=1024.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'no scaling', \
     'curves-weight-norm-batch-size=1024.dat' index 1 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#ff7f0e' notitle, \
     'curves-weight-norm-batch-size=1024.dat' index 1 using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title 'lr x k (learning-rate scaling)', \
     'curves-weight-norm-batch-size=1024.dat' index 2 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#2ca02c' notitle, \
     'curves-weight-norm-batch-size=1024.dat' index 2 using 1:2 with linespoints linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#2ca02c' dashtype 1 title 'wd x k (weight-decay scaling)'
set terminal svg noenhanced size 1100,710 dynamic font 'Sans,12'
set output 'curves-weight-norm-batch-size=1024.svg'
replot
unset output
