set terminal pngcairo noenhanced size 1100,670 font 'Sans,12'
set output 'error-vs-batch-size.png'
set title 'final test error against batch size (mean and 95% CI over seeds)'
set xlabel 'batch size, log scale (base 2)'
set ylabel 'final test error (%)'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 7
set datafile missing 'NaN'
set logscale x 2
set xtics ('1024' 1024, '4096' 4096)
set xrange [890.4347826086957:4710.4]
set yrange [11.359077013307374:26.4416043337106]
plot 'error-vs-batch-size.dat' index 0 using 1:2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'all runs'
set terminal svg noenhanced size 1100,670 dynamic font 'Sans,12'
set output 'error-vs-batch-size.svg'
replot
unset output
