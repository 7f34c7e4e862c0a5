set terminal pngcairo noenhanced size 1100,670 font 'Sans,12'
set output 'curves-test-error-weight-decay=0.05.png'
set title 'Test error per epoch -- wd 0.05 (mean over seeds, band: 95% CI of the mean)'
set xlabel 'epoch'
set ylabel 'test error (%)'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 7
set datafile missing 'NaN'
set xtics 2
set xrange [0.29999999999999993:15.7]
set yrange [11.013137903913249:74.82718556155169]
plot 'curves-test-error-weight-decay=0.05.dat' index 0 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#1f77b4' notitle, \
     'curves-test-error-weight-decay=0.05.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'wd 0.05'
set terminal svg noenhanced size 1100,670 dynamic font 'Sans,12'
set output 'curves-test-error-weight-decay=0.05.svg'
replot
unset output
