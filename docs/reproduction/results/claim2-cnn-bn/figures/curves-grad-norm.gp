set terminal pngcairo noenhanced size 1100,690 font 'Sans,12'
set output 'curves-grad-norm.png'
set title 'Gradient norm per epoch (mean over seeds, band: 95% CI of the mean)'
set xlabel 'epoch'
set ylabel 'gradient norm ||grad L|| (mean over the epoch), log scale'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 7
set datafile missing 'NaN'
set logscale y 10
set ytics ('0.2' 0.2, '0.5' 0.5, '1' 1)
set xtics 1
set xrange [0.75:6.25]
set yrange [0.19293078066136715:1.1054940257957186]
plot 'curves-grad-norm.dat' index 0 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#1f77b4' notitle, \
     'curves-grad-norm.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'no scaling', \
     'curves-grad-norm.dat' index 1 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#ff7f0e' notitle, \
     'curves-grad-norm.dat' index 1 using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title 'wd x k (weight-decay scaling)'
set terminal svg noenhanced size 1100,690 dynamic font 'Sans,12'
set output 'curves-grad-norm.svg'
replot
unset output
