set terminal pngcairo noenhanced size 1100,710 font 'Sans,12'
set output 'error-vs-batch-size.png'
set title 'final test error against batch size (mean and 95% CI over seeds)'
set xlabel 'batch size, log scale (base 2)'
set ylabel 'final test error (%)'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 7
set datafile missing 'NaN'
set logscale x 2
set xtics ('128' 128, '1024' 1024, '4096' 4096)
set xrange [103.96830673359814:5042.767517060777]
set yrange [9.666802939915252:33.87232255220564]
plot 'error-vs-batch-size.dat' index 0 using ($1*0.9544886847394131):2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'no scaling', \
     'error-vs-batch-size.dat' index 1 using ($1*1):2:3 with yerrorlines linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title 'lr x k (learning-rate scaling)', \
     'error-vs-batch-size.dat' index 2 using ($1*1.047681356508707):2:3 with yerrorlines linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#2ca02c' dashtype 1 title 'wd x k (weight-decay scaling)'
set terminal svg noenhanced size 1100,710 dynamic font 'Sans,12'
set output 'error-vs-batch-size.svg'
replot
unset output
