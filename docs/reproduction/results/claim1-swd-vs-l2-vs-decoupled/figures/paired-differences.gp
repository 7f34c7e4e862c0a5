set terminal pngcairo noenhanced size 1100,1292 font 'Sans,12'
set output 'paired-differences.png'
set title 'Paired A - B, final test error (95% CI)'
set xlabel 'A - B, final test error (percentage points; below 0: A better)'
set grid xtics
set key below center horizontal
set datafile missing 'NaN'
set xrange [-0.3785327760426404:0.6286818966554824]
set yrange [35.5:-0.5]
set ytics ('sgds - sgd' 0, 'sgd - adam' 1, 'sgd - adamw' 2, 'sgd - adams' 3, 'sgd - amsgrad' 4, 'sgd - amsgrads' 5, 'sgd - adai' 6, 'sgd - adais' 7, 'sgds - adam' 8, 'sgds - adamw' 9, 'sgds - adams' 10, 'sgds - amsgrad' 11, 'sgds - amsgrads' 12, 'sgds - adai' 13, 'sgds - adais' 14, 'adam - adamw' 15, 'adams - adam' 16, 'adam - amsgrad' 17, 'adam - amsgrads' 18, 'adam - adai' 19, 'adam - adais' 20, 'adams - adamw' 21, 'adamw - amsgrad' 22, 'adamw - amsgrads' 23, 'adamw - adai' 24, 'adamw - adais' 25, 'adams - amsgrad' 26, 'adams - amsgrads' 27, 'adams - adai' 28, 'adams - adais' 29, 'amsgrads - amsgrad' 30, 'amsgrad - adai' 31, 'amsgrad - adais' 32, 'amsgrads - adai' 33, 'amsgrads - adais' 34, 'adais - adai' 35)
set arrow 1 from 0, graph 0 to 0, graph 1 nohead dashtype 2 linecolor rgb '#555555'
plot 'paired-differences.dat' index 0 using 1:2:3 with xerrorbars linewidth 2 pointtype 7 pointsize 1.1 linecolor rgb '#d62728' title '95% CI excludes 0', \
     'paired-differences.dat' index 1 using 1:2:3 with xerrorbars linewidth 2 pointtype 7 pointsize 1.1 linecolor rgb '#1f77b4' title '95% CI contains 0'
set terminal svg noenhanced size 1100,1292 dynamic font 'Sans,12'
set output 'paired-differences.svg'
replot
unset output
