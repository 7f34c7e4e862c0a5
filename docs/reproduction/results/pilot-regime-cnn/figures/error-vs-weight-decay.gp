set terminal pngcairo noenhanced size 1100,670 font 'Sans,12'
set output 'error-vs-weight-decay.png'
set title 'final test error against weight decay (mean and 95% CI over seeds)'
set xlabel 'weight decay'
set ylabel 'final test error (%)'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 7
set datafile missing 'NaN'
set xtics ('0' 0, '0.005' 0.005)
set xrange [-0.00025:0.00525]
set yrange [13.860780709404008:14.64769581871545]
plot 'error-vs-weight-decay.dat' index 0 using 1:2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'all runs'
set terminal svg noenhanced size 1100,670 dynamic font 'Sans,12'
set output 'error-vs-weight-decay.svg'
replot
unset output
