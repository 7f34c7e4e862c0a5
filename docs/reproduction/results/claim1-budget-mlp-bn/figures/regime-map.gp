set terminal pngcairo noenhanced size 1100,730 font 'Sans,12'
set output 'regime-map.png'
set title 'Paired difference in final test error against the decay budget (mean and 95% CI over seeds)'
set xlabel 'decay budget of the cell (e-folds, mean over its runs), log scale'
set ylabel 'A - B, final test error (percentage points)'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 8
set datafile missing 'NaN'
set logscale x 10
set xtics ('0.2' 0.2, '0.5' 0.5, '1' 1, '2' 2, '5' 5, '1e+01' 1e+01, '2e+01' 2e+01)
set xrange [0.13650555043612578:45.269617735072096]
set yrange [-3.1076707384589173:0.6269183667770061]
plot 'regime-map.dat' index 0 using ($1*0.90079959593511):2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'adams - adamw', \
     'regime-map.dat' index 1 using ($1*0.9657752264109932):2:3 with yerrorlines linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title 'adams - adam', \
     'regime-map.dat' index 2 using ($1*1.0354376180430644):2:3 with yerrorlines linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#2ca02c' dashtype 1 title 'sgds - sgd', \
     'regime-map.dat' index 3 using 1:2 with linespoints linewidth 2 pointtype 11 pointsize 0.8 linecolor rgb '#d62728' dashtype 1 title 'no difference'
set terminal svg noenhanced size 1100,730 dynamic font 'Sans,12'
set output 'regime-map.svg'
replot
unset output
