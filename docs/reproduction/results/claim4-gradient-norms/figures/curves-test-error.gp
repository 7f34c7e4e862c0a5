set terminal pngcairo noenhanced size 1100,750 font 'Sans,12'
set output 'curves-test-error.png'
set title 'Test error per epoch (mean over seeds, band: 95% CI of the mean)'
set xlabel 'epoch'
set ylabel 'test error (%)'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 2 samplen 2
set bmargin 9
set datafile missing 'NaN'
set xtics 3
set xrange [-0.4500000000000002:31.45]
set yrange [16.774132851403575:32.593529264937104]
plot 'curves-test-error.dat' index 0 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#1f77b4' notitle, \
     'curves-test-error.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'sgd', \
     'curves-test-error.dat' index 1 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#ff7f0e' notitle, \
     'curves-test-error.dat' index 1 using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title 'sgds', \
     'curves-test-error.dat' index 2 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#2ca02c' notitle, \
     'curves-test-error.dat' index 2 using 1:2 with linespoints linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#2ca02c' dashtype 1 title 'adam', \
     'curves-test-error.dat' index 3 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#d62728' notitle, \
     'curves-test-error.dat' index 3 using 1:2 with linespoints linewidth 2 pointtype 11 pointsize 0.8 linecolor rgb '#d62728' dashtype 1 title 'adamw (weight decay applied: 5.0)', \
     'curves-test-error.dat' index 4 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#9467bd' notitle, \
     'curves-test-error.dat' index 4 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#9467bd' dashtype 1 title 'adams'
set terminal svg noenhanced size 1100,750 dynamic font 'Sans,12'
set output 'curves-test-error.svg'
replot
unset output
