set terminal pngcairo noenhanced size 1100,750 font 'Sans,12'
set output 'curves-train-loss.png'
set title 'Training loss per epoch (mean over seeds, band: 95% CI of the mean)'
set xlabel 'epoch'
set ylabel 'training loss (cross-entropy), log scale'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 2 samplen 2
set bmargin 9
set datafile missing 'NaN'
set logscale y 10
set ytics ('0.05' 0.05, '0.1' 0.1, '0.2' 0.2, '0.5' 0.5, '1' 1)
set xtics 2
set xrange [0.29999999999999993:15.7]
set yrange [0.03986606817400367:1.3560297816227969]
plot 'curves-train-loss.dat' index 0 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#1f77b4' notitle, \
     'curves-train-loss.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'sgd', \
     'curves-train-loss.dat' index 1 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#ff7f0e' notitle, \
     'curves-train-loss.dat' index 1 using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title 'sgds', \
     'curves-train-loss.dat' index 2 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#2ca02c' notitle, \
     'curves-train-loss.dat' index 2 using 1:2 with linespoints linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#2ca02c' dashtype 1 title 'adam', \
     'curves-train-loss.dat' index 3 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#d62728' notitle, \
     'curves-train-loss.dat' index 3 using 1:2 with linespoints linewidth 2 pointtype 11 pointsize 0.8 linecolor rgb '#d62728' dashtype 1 title 'adamw (weight decay applied: 5.0)', \
     'curves-train-loss.dat' index 4 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#9467bd' notitle, \
     'curves-train-loss.dat' index 4 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#9467bd' dashtype 1 title 'adams'
set terminal svg noenhanced size 1100,750 dynamic font 'Sans,12'
set output 'curves-train-loss.svg'
replot
unset output
