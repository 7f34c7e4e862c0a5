set terminal pngcairo noenhanced size 1100,650 font 'Sans,12'
set output 'error-vs-weight-decay.png'
set title 'final test error against weight decay (mean and std over seeds)'
set xlabel 'weight decay, log scale'
set ylabel 'final test error (%)'
set grid
set key outside right top box
set datafile missing 'NaN'
set logscale x 10
set xtics ('0.0005' 0.0005, '0.005' 0.005)
set xrange [0.0004347826086956522:0.00575]
set yrange [9.69918422848527:14.85552803439084]
plot 'error-vs-weight-decay.dat' index 0 using 1:2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'sgd', \
     'error-vs-weight-decay.dat' index 1 using 1:2:3 with yerrorlines linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title 'sgds', \
     'error-vs-weight-decay.dat' index 2 using 1:2:3 with yerrorlines linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#2ca02c' dashtype 1 title 'adam', \
     'error-vs-weight-decay.dat' index 3 using 1:2:3 with yerrorlines linewidth 2 pointtype 11 pointsize 0.8 linecolor rgb '#d62728' dashtype 1 title 'adamw', \
     'error-vs-weight-decay.dat' index 4 using 1:2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#9467bd' dashtype 1 title 'adams'
set terminal svg noenhanced size 1100,650 dynamic font 'Sans,12'
set output 'error-vs-weight-decay.svg'
replot
unset output
