set terminal pngcairo noenhanced size 1100,690 font 'Sans,12'
set output 'curves-test-error.png'
set title 'Test error per epoch (mean over seeds, band: 95% CI of the mean)'
set xlabel 'epoch'
set ylabel 'test error (%)'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 7
set datafile missing 'NaN'
set xtics 1
set xrange [0.75:6.25]
set yrange [9.73452791189052:37.08877239692611]
plot 'curves-test-error.dat' index 0 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#1f77b4' notitle, \
     'curves-test-error.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'no scaling', \
     'curves-test-error.dat' index 1 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#ff7f0e' notitle, \
     'curves-test-error.dat' index 1 using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title 'wd x k (weight-decay scaling)'
set terminal svg noenhanced size 1100,690 dynamic font 'Sans,12'
set output 'curves-test-error.svg'
replot
unset output
