set terminal pngcairo noenhanced size 1100,650 font 'Sans,12'
set output 'error-vs-batch-size.png'
set title 'final test error against batch size (mean and std over seeds)'
set xlabel 'batch size, log scale (base 2)'
set ylabel 'final test error (%)'
set grid
set key outside right top box
set datafile missing 'NaN'
set logscale x 2
set xtics ('128' 128, '256' 256, '512' 512, '1024' 1024, '2048' 2048)
set xrange [108.38339998240349:2418.672970607678]
set yrange [6.699379019515035:93.96669623716595]
plot 'error-vs-batch-size.dat' index 0 using 1:2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'no scaling', \
     'error-vs-batch-size.dat' index 1 using 1:2:3 with yerrorlines linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title 'lr x k (learning-rate scaling)', \
     'error-vs-batch-size.dat' index 2 using 1:2:3 with yerrorlines linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#2ca02c' dashtype 1 title 'wd x k (weight-decay scaling)'
set terminal svg noenhanced size 1100,650 dynamic font 'Sans,12'
set output 'error-vs-batch-size.svg'
replot
unset output
