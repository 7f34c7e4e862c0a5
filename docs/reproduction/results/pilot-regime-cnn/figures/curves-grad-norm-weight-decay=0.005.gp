set terminal pngcairo noenhanced size 1100,670 font 'Sans,12'
set output 'curves-grad-norm-weight-decay=0.005.png'
set title 'Gradient norm per epoch -- wd 0.005 (mean over seeds, band: 95% CI of the mean)'
set xlabel 'epoch'
set ylabel 'gradient norm ||grad L|| (mean over the epoch), log scale'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 7
set datafile missing 'NaN'
set logscale y 10
set ytics ('0.4' 0.4, '0.5' 0.5, '0.6' 0.6, '0.7' 0.7, '0.8' 0.8, '0.9' 0.9, '1' 1)
set xtics 2
set xrange [0.29999999999999993:15.7]
set yrange [0.319790818366877:1.8981081489966307]
plot 'curves-grad-norm-weight-decay=0.005.dat' index 0 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#1f77b4' notitle, \
     'curves-grad-norm-weight-decay=0.005.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'wd 0.005'
set terminal svg noenhanced size 1100,670 dynamic font 'Sans,12'
set output 'curves-grad-norm-weight-decay=0.005.svg'
replot
unset output
